"""One error type for bad input: the CLI prints its message as one line and exits 2."""


class InputError(Exception):
    """Bad input (file, key, value or config). The message names what is wrong and what was expected."""

    def __str__(self) -> str:  # always one line
        return " ".join(super().__str__().split())


class TrainingDiverged(RuntimeError):
    """The loss became NaN/inf: the job stops, naming window/method/seed, instead of writing garbage."""

    def __str__(self) -> str:
        return " ".join(super().__str__().split())
