"""Eve and MongoDB machinery, no business rules: the data layer and custom types, the one
domain-to-JSON-Schema converter, OpenAPI, provisioning, auth and rate limiting, request
guards, error rendering, transactions, values at the edges, and the embedded servers."""
