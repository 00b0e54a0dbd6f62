"""The MQTT side: the publisher that keeps the broker equal to the state (with its reconnect
policy, the outbox and runner for its extensions, and the wake-up of its thread), the extension
contract, paho's client and the one adapter to its internals, our packet encoder, why a
connection failed, and the brokers the bridge can embed.

May import: `state`, `config`, `model`, `util`, `errors`, and paho-mqtt.
"""
