"""Application code that is not Dagster: what the assets, the sensors and the command line do
with the bucket and the table, shared by all of them."""
