"""Each concern beside the state topics, as one publisher extension: bridge/info, the names
report, requests over MQTT, the sweep of what earlier runs left, Home Assistant announcements,
tickers and clocks, the credit watch, the valuation's topics.

May import: `mqtt` (the extension contract), `state`, `stream`, `rest`, `homeassistant`,
`displays`, `money`, `config`, `model`, `util`, `errors`.
"""
