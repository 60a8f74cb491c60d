"""FlexHome FlexConnect: client, simulator, config flow, entities and control."""
