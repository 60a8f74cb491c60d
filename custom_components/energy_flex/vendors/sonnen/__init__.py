"""sonnenBatterie over its local API v1 (`sonnen`)."""
