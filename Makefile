# Developer commands. The local stack (PostgreSQL, Kafka, schema registry, the services) is
# deploy/local/stack.sh; everything it creates lives under .stack/.
#
#   make help     this list
#   make up       install what is missing, start the whole local stack, print where things listen
#   make down     stop what `make up` started (keeps data)
#   make clean    stop, then delete local data (.stack/, the cdp and apicurio databases)
#   make status   what runs, pids, ports, logs
#   make build    compile TypeScript into dist/
#   make lint     type check, ESLint, Prettier
#   make test     bring the stack up if needed, then run every test (tap) against it
#   make demo     send a simulated stream through the HTTP API and show what landed
#   make bench    the end-to-end benchmark (writes bench/results/latest.json)

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

STACK := ./deploy/local/stack.sh

.PHONY: help up down clean status build lint test demo bench

help:
	@sed -n 's/^#   make /  make /p' $(firstword $(MAKEFILE_LIST))

up:
	@$(STACK) up

down:
	@$(STACK) down

clean:
	@$(STACK) clean

status:
	@$(STACK) status

build:
	npm run build

lint:
	npm run typecheck
	npm run lint

# `up` also installs node_modules and builds dist/, and starts only what is not running. Strict:
# a type error fails the run here (plain `make up` only warns, so one broken file does not keep
# the stack down).
test:
	@$(STACK) test-tools
	@STACK_STRICT_BUILD=1 $(STACK) up
	npx tap

# The entry points below are built by `make up` / `make build`; say so plainly if one is missing.
demo:
	@test -f dist/services/tools/src/demo.js || { echo "dist/services/tools/src/demo.js not found: run 'make up' first (or the demo is not written yet)"; exit 1; }
	node dist/services/tools/src/demo.js

# The development collector and sink would compete for the 2 cores and read the bench's traffic:
# they are stopped for the run (`make up` starts them again).
bench:
	@$(STACK) up
	@$(STACK) stop-services
	node dist/bench/src/run.js
	@echo "The development collector and sink were stopped for the bench; 'make up' starts them again."
