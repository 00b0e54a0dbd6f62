"""The configuration: the frozen settings, the schema every source is checked against (a TOML
file, `CMC_MQTT_*` variables), one readable line per problem, and loading it.

May import: `money`, `displays` (the rules their options follow), `model`, `util`, `errors`.
"""
