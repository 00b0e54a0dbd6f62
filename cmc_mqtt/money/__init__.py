"""Amounts in the user's currency, pure: the currency's rounding, the exchange rate and how far
to trust it, the portfolio, alerts, and the valuation that turns stream texts into published
amounts.

May import: `model`, `util`, `errors`. No I/O, no MQTT, no threads of its own.
"""
