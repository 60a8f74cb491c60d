"""FlexHome FlexConnect development client (`flexconnect`)."""
