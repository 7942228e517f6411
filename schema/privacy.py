"""Personal data, marked once in the schema; the mark drives privacy elsewhere.

`@personalData` on a field or an argument says its values identify or describe
a person. The BFF keeps marked values out of logs, traces, metric labels, error
messages and cache keys, and `bff schema pii` lists every marked coordinate
(the data inventory in the README).
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
