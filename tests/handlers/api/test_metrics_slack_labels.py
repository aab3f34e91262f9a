"""/metrics labels Slack calls by Web API method: a file's one-time upload URL is no new series."""

from __future__ import annotations

from collections import Counter

from models import OutboxItem
from models.enums import Delivery
from tests.handlers.api.test_metrics import Scrape, scrape, until
from tests.handlers.slack.test_home_and_commands import command
from tests.harness import Harness

ADMIN = "U0ADMIN01"
SLACK_METRICS = (
    "council_slack_api_calls_total",
    "council_slack_ratelimited_total",
    "council_slack_api_errors_total",
)


async def test_a_file_upload_is_counted_under_one_label_and_not_under_its_upload_url(
    council: Harness,
) -> None:
    # The digest's chart goes up through files_upload_v2: getUploadURLExternal, a POST of the bytes to
    # the one-time URL it answered (/upload/v1/<id> on the fake, as on files.slack.com), then complete.
    await command(council, "digest now", user=ADMIN)
    await council.fake.wait_for(lambda: council.fake.uploads_in("C0COUNCIL"), timeout=20)
    found: list[Scrape] = []

    async def counted_every_request() -> bool:
        if await OutboxItem.filter(status=Delivery.PENDING).exists():
            return False
        found[:] = [await scrape(council)]
        requests = len(council.fake.calls) + len(council.fake.uploads)
        return sum(found[0].count("council_slack_api_calls_total", "method").values()) == requests

    await until(counted_every_request, "every Slack request counted once the outbox is empty")
    metrics = found[0]
    api_methods = Counter(call.method for call in council.fake.calls)
    assert {"files.getUploadURLExternal", "files.completeUploadExternal"} <= set(api_methods)
    assert metrics.count("council_slack_api_calls_total", "method") == {**api_methods, "files.upload": 1}
    labels = {dict(labels)["method"] for name, labels in metrics.counters() if name in SLACK_METRICS}
    assert labels <= {*api_methods, "files.upload"}, labels
