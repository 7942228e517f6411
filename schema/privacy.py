"""Personal data, marked once in the schema; the mark drives privacy elsewhere.

See docs/security.md, Privacy.
"""

from __future__ import annotations

import strawberry
from strawberry.schema_directive import Location


@strawberry.schema_directive(
    locations=[Location.FIELD_DEFINITION, Location.ARGUMENT_DEFINITION],
    name="personalData",
    description="Values here are personal data: never logged, traced or cached under a key.",
)
class PersonalData:
    pass


PERSONAL = PersonalData()
