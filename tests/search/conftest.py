"""What the search tests share: an app whose searches come from its read model."""

import pytest

from run import close_app, create_app


@pytest.fixture
def model_app(app_config):
    """An app on the test's database whose searches skip the answer cache: every search
    is computed, from the model when it is caught up (which it is given 5 s to be)."""
    app = create_app(
        dict(app_config, SEARCH_CACHE=False, SEARCH_MODEL=True, SEARCH_MODEL_WAIT_MS=5000)
    )
    model = app.extensions["search_model"]
    with app.app_context():
        model.start(app.data.driver.db)
    assert model.wait_until_ready(10)
    yield app
    close_app(app)
