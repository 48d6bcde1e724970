"""Arrow's memory pool: mimalloc by default, the user's ARROW_DEFAULT_MEMORY_POOL kept (issue 24)."""

import pyarrow as pa
import pytest

from screening.io.pool import choose_memory_pool


@pytest.fixture
def restore_pool():
    pool = pa.default_memory_pool()
    yield
    pa.set_memory_pool(pool)


def test_mimalloc_unless_the_user_named_a_pool(restore_pool):
    pa.set_memory_pool(pa.system_memory_pool())
    assert choose_memory_pool({}) == "mimalloc"


@pytest.mark.parametrize("named", ["system", "jemalloc"])
def test_the_users_pool_is_left_alone(restore_pool, named):
    pa.set_memory_pool(pa.system_memory_pool())  # what pyarrow would have set from the variable
    assert choose_memory_pool({"ARROW_DEFAULT_MEMORY_POOL": named}) == "system"
