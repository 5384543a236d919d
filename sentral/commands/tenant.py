"""`sentral tenant ...`: placeholder replaced below."""


def register(sub) -> None:
    pass
