"""The REST API the stores' dashboard and upload scripts call: one FastAPI app over the bucket and
the table, with the old API's contract, API keys or the load balancer's login."""
