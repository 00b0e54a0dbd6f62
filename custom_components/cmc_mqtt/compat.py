"""The names that differ between the Home Assistant versions this integration supports (2024.3
to the current one), in one place so that the rest reads the same on all of them.

Each import below exists under one name on some versions and another (or not at all) on the
others. The type checker runs against 2024.3 and the current version alike, so the ignores are
narrow (`unused-ignore` lets the same line pass where that version needs none).
"""

from __future__ import annotations

# Home Assistant 2026 validates with probatio and, at start-up, makes `voluptuous` an alias of
# it; importing it directly gives the type checker the classes Home Assistant's own signatures
# name. Earlier versions use voluptuous itself.
try:
    import probatio as vol  # type: ignore[import-not-found,unused-ignore]
except ImportError:  # Home Assistant before 2026
    import voluptuous as vol  # type: ignore[no-redef,unused-ignore]

try:
    from homeassistant.config_entries import (  # type: ignore[attr-defined,unused-ignore]
        ConfigFlowResult,
    )
except ImportError:  # Home Assistant before 2024.4
    from homeassistant.data_entry_flow import (  # type: ignore[assignment,unused-ignore]
        FlowResult as ConfigFlowResult,
    )

try:
    from homeassistant.helpers.entity_platform import (  # type: ignore[attr-defined,unused-ignore]
        AddConfigEntryEntitiesCallback,
    )
except ImportError:  # Home Assistant before 2025.2
    from homeassistant.helpers.entity_platform import (  # type: ignore[assignment,unused-ignore]
        AddEntitiesCallback as AddConfigEntryEntitiesCallback,
    )

__all__ = ["AddConfigEntryEntitiesCallback", "ConfigFlowResult", "vol"]
