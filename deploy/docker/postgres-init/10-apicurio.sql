-- Run once by the postgres image when its data volume is new: the schema registry keeps its state
-- in its own database (the image creates POSTGRES_DB=cdp itself).
CREATE DATABASE apicurio;
