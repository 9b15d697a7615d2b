"""The API's endpoints, one module per group the OpenAPI page shows."""
