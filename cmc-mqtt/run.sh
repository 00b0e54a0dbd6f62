#!/bin/sh
# The add-on's start: cmc_mqtt/addon.py (tested against a fake Supervisor) turns
# /data/options.json and the Supervisor's MQTT service into the bridge's config and runs it.
exec /opt/cmc-mqtt/bin/python -m cmc_mqtt.addon
