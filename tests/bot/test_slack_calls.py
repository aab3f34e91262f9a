"""Slack calls are counted by Web API method, with the URLs slack-sdk requests on Slack itself."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

from bot.metrics import Metrics
from bot.slack_calls import SlackCallCounter

SLACK = "https://slack.com/api/"


@pytest.mark.parametrize(
    ("url", "label"),
    [
        ("https://slack.com/api/chat.postMessage", "chat.postMessage"),
        ("https://slack.com/api/conversations.history?channel=C0COUNCIL&limit=1", "conversations.history"),
        ("https://slack.com/api/oauth.v2.access", "oauth.v2.access"),
        ("https://files.slack.com/upload/v1/CwABAAAAXAoAAZO9q1", "files.upload"),
        ("https://files.slack.com/upload/v1/CwABAAAAXAoAAZZZZ2?x=1", "files.upload"),
        ("https://hooks.slack.com/services/T0/B0/XXXXXXXX", "other"),
        ("https://slack.com/api/", "other"),
        ("https://slack.com/api/a/b.c", "other"),
        ("https://slack.com/apichat.postMessage", "other"),
        ("https://evil.example/api/chat.postMessage", "other"),
    ],
)
def test_a_url_is_named_by_its_method_under_the_base_url_only(url: str, label: str) -> None:
    assert SlackCallCounter(Metrics(), base_url=SLACK).method_of(url) == label


def test_a_base_url_without_its_slash_is_read_as_the_client_reads_it() -> None:
    counter = SlackCallCounter(Metrics(), base_url="http://127.0.0.1:8080/api")
    assert counter.method_of("http://127.0.0.1:8080/api/views.open") == "views.open"
    assert counter.method_of("http://127.0.0.1:8080/upload/v1/u_1") == "files.upload"
    assert counter.method_of("https://slack.com/api/views.open") == "other"


async def test_uploads_to_different_one_time_urls_are_one_series() -> None:
    metrics = Metrics()
    counter = SlackCallCounter(metrics, base_url=SLACK)
    ok = HttpResponse(status_code=200, headers={}, body={})
    for token in ("CwABAAAAXAoAAZO9q1", "CwABAAAAXAoAAZZZZ2", "CwABAAAAXAoAAYYYY3"):
        upload = HttpRequest(method="POST", url=f"https://files.slack.com/upload/v1/{token}", headers={})
        assert await counter.can_retry_async(state=RetryState(), request=upload, response=ok) is False
    [family] = [
        f
        for f in text_string_to_metric_families(metrics.exposition().decode())
        if f.name == "council_slack_api_calls"
    ]
    assert [(s.labels, s.value) for s in family.samples] == [({"method": "files.upload"}, 3.0)]
