"""Run the refund agent against a running Council: `python -m examples.refund_agent --help`.

The scripted model is the default, so a dry run needs no model: the council votes in Slack and the
script acts on its decision. `--openai` asks an OpenAI-compatible server for each turn instead.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
from decimal import Decimal

import aiohttp

from bot.client import CouncilClient
from examples.refund_agent.agent import RefundAgent
from examples.refund_agent.model import Model, ScriptedModel
from examples.refund_agent.openai_model import OpenAIChatModel
from examples.refund_agent.payments import InMemoryPayments
from examples.refund_agent.script import refund_script


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m examples.refund_agent",
        description="Refund an order; above --limit the agent asks the council. "
        "Needs COUNCIL_URL and COUNCIL_API_KEY (and OPENAI_API_KEY, OPENAI_MODEL with --openai).",
    )
    parser.add_argument("--order", default="1042")
    parser.add_argument("--amount", default="1200")
    parser.add_argument("--currency", default="USD")
    parser.add_argument("--reason", default="The customer was charged twice.")
    parser.add_argument("--limit", type=Decimal, default=Decimal(500))
    parser.add_argument(
        "--openai", action="store_true", help="use an OpenAI-compatible model, not the script"
    )
    args = parser.parse_args()
    needed = ["COUNCIL_URL", "COUNCIL_API_KEY", *(["OPENAI_API_KEY", "OPENAI_MODEL"] if args.openai else [])]
    if missing := [name for name in needed if not os.environ.get(name)]:
        parser.error(f"set {' and '.join(missing)} in the environment")
    return args


def _model(args: argparse.Namespace, http: aiohttp.ClientSession) -> Model:
    if args.openai:
        return OpenAIChatModel(
            http,
            model=os.environ["OPENAI_MODEL"],
            api_key=os.environ["OPENAI_API_KEY"],
            base_url=os.environ.get("OPENAI_BASE_URL", "https://api.openai.com/v1"),
        )
    return ScriptedModel(
        refund_script(
            order_id=args.order,
            amount=args.amount,
            currency=args.currency,
            reason=args.reason,
            preferred="store_credit",
        )
    )


async def main() -> None:
    args = _arguments()
    request = (
        f"Please refund {args.amount} {args.currency} on order {args.order}, as store credit. {args.reason}"
    )
    async with (
        aiohttp.ClientSession() as http,
        CouncilClient(os.environ["COUNCIL_URL"], os.environ["COUNCIL_API_KEY"]) as council,
    ):
        agent = RefundAgent(
            model=_model(args, http), council=council, payments=InMemoryPayments(), limit=args.limit
        )
        run = await agent.run(request)
    for message in run.messages[1:]:
        print(json.dumps(message, indent=None))
    print("\n" + run.answer)


if __name__ == "__main__":
    asyncio.run(main())
