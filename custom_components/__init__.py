"""Home Assistant custom integrations shipped with cmc-mqtt."""
