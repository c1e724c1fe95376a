import { isVersion, type TraitMap, type Version } from '../traits/trait-map.js';
import { define, isObject } from './json-object.js';

/** customer_groups.traits and trait_times as one TraitMap (keys are the trait names). */
export function groupProfileOf(traits: unknown, traitTimes: unknown): TraitMap {
  const values = new Map<string, unknown>();
  if (isObject(traits)) for (const [k, v] of Object.entries(traits)) if (v !== null) values.set(k, v);
  const times = new Map<string, Version>();
  if (isObject(traitTimes)) {
    for (const [k, v] of Object.entries(traitTimes)) if (isVersion(v)) times.set(k, v);
  }
  return { values, times };
}

export function groupColumns(map: TraitMap): {
  traits: Record<string, unknown>;
  traitTimes: Record<string, Version>;
} {
  const traits: Record<string, unknown> = {};
  for (const [k, v] of map.values) define(traits, k, v);
  const traitTimes: Record<string, Version> = {};
  for (const [k, v] of map.times) define(traitTimes, k, v);
  return { traits, traitTimes };
}
