"""FEMS local REST/JSON: client, simulator, config flow, entities, control."""
