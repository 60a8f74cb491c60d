"""FENECON FEMS over the local REST/JSON API (`fems_rest`)."""
