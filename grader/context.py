"""What the checks share while grading: the store, the test split, and facts built once."""

from __future__ import annotations

from typing import Any, Callable


class Context:
    def __init__(self, store) -> None:
        self.store = store
        self.notes: dict[str, str] = {}  # check id -> a note to show with its result
        self._memo: dict[str, Any] = {}
        self._open: list = []  # what close() closes: downloaded model files

    def closing(self, thing):
        """``thing``, closed when the grading ends."""
        self._open.append(thing)
        return thing

    def close(self) -> None:
        while self._open:
            self._open.pop().close()

    def memo(self, key: str, build: Callable[[], Any]) -> Any:
        """``build()`` once per grading; later calls return the same value."""
        if key not in self._memo:
            self._memo[key] = build()
        return self._memo[key]

    def split(self, test_size: float | None = None, random_state: int | None = None):
        """The lab's train/test split (its defaults unless a run logged others)."""
        from grader import without_sklearn
        from labkit.data import SPLIT_SEED, TEST_SIZE, split_data

        test_size = TEST_SIZE if test_size is None else test_size
        random_state = SPLIT_SEED if random_state is None else random_state
        if without_sklearn.can_split(test_size, random_state):
            split_data = without_sklearn.split_data  # the same rows, without importing sklearn
        return self.memo(f"split:{test_size}:{random_state}",
                         lambda: split_data(test_size=test_size, random_state=random_state))
