"""Signal control library without Django.

It can run next to a field controller or inside the SUMO harness: intersection models
(:mod:`.model`), the safety layer that alone changes signal states (:mod:`.safety`),
controllers (:mod:`.controllers`), priority handling (:mod:`.priority`) and Webster's
method (:mod:`.webster`).
"""
