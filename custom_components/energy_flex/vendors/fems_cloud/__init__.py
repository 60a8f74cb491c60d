"""FENECON cloud (`fems_cloud`): the FEMS systems (edges) of one FENECON portal account."""
