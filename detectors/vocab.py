"""The words wardcam indexes with: object classes and vehicle colours.

One place for them, so that the service (search filters, database enums, the console) imports
them instead of repeating them.
"""

from __future__ import annotations

#: COCO class ids wardcam keeps, and their names.
KEEP_CLASSES: dict[int, str] = {
    0: "person",
    1: "bicycle",
    2: "car",
    3: "motorcycle",
    5: "bus",
    7: "truck",
}

#: Every label an event can have.
LABELS: tuple[str, ...] = tuple(KEEP_CLASSES.values())

#: The labels that get a colour.
VEHICLE_LABELS: frozenset[str] = frozenset({"bicycle", "car", "motorcycle", "bus", "truck"})

#: Vehicles ridden astride: the rider covers most of what the camera sees of them.
TWO_WHEELERS: frozenset[str] = frozenset({"bicycle", "motorcycle"})

#: Classes one object may be seen as from sample to sample (a van is a car in one frame and a
#: truck in the next; a scooter a motorcycle or a bicycle): the tracker matches within a family.
FAMILY: dict[str, int] = {
    "person": 0,
    "bicycle": 1,
    "motorcycle": 1,
    "car": 2,
    "bus": 2,
    "truck": 2,
}

#: What ``Event.color`` can be (``None`` for people); ``unknown`` for night / IR footage.
COLOURS: tuple[str, ...] = (
    "white",
    "black",
    "grey",
    "red",
    "blue",
    "green",
    "yellow",
    "brown",  # brown and orange
    "unknown",  # night / IR / too dark to tell
)
