"""What a person or an integration may do to written items (e-mail, SMS and web-form
tasks: engine/written.py): act as an agent on an item (accept, decline, reply, transfer,
close) and read an item's messages. Built on agent_ui.actions, with its rules.

Rules:
- Acting as an agent on an item needs what any agent command needs (`Actions.as_agent`):
  the user bound to that agent, or a working role (operator and up) in every tenant the
  agent serves, and also in the item's tenant and its queue's tenant. Someone else acting
  for the agent is audited (`item.<command>`).
- The item must be live in the engine and the agent's (offered to her or open):
  unknown or closed -> 404 `item.not_found`, someone else's or waiting -> 409
  `item.not_yours`; decline needs an offered item, reply an open one (409 `item.refused`).
  Later refusals (the item changed between this check and the engine's step) come from the
  engine as `command.refused`, like every command's.
- A reply goes through channels/replies.py `queue_reply`, as the console's: its text
  checked for the channel (else 400 `item.bad_text`), stored first (direction out, status
  queued, author = the agent, the item's case, queue and channel; to the item's sender),
  then ItemReply names it: the engine never sees a text, the channel sender sends what is
  stored. Someone else's reply is audited after it is stored and posted.
- Reading an item's messages needs a steering role (supervisor, tenant_admin, admin) in the
  tenant, and is audited (`item.messages_read`, with how many) because it shows the
  citizens' texts; a refused read is audited too. An item of another tenant is 404, as
  an unknown one.
"""
from __future__ import annotations

import uuid

from agent_ui.actions import STEERING, WORKING, ActionError, ActionInvalid, ActionNotFound, Actions, Actor
from channels.replies import MAX_TEXT, ReplyError, ReplyInvalid, queue_reply
from engine import events as ev
from store.written import MessageRecord

COMMANDS = ("accept", "decline", "reply", "transfer", "close")


class ItemConflict(ActionError):
    status = 409
    error_id = "item.refused"


def new_message_id() -> str:
    return f"msg-{uuid.uuid4().hex}"


def item_tenants(deployment, item) -> set[str]:
    """The tenants an item concerns: its own and its queue's (after a transfer to another agency)."""
    queue = deployment.queues.get(item.queue)
    return {item.tenant} | ({queue.tenant} if queue is not None else set())


def live_item(engine, item_id: str):
    """The engine's open item `item_id`, or None."""
    item = engine.items.get(item_id)
    return item if item is not None and not item.ended else None


class ItemActions:
    def __init__(self, actions: Actions, store):
        self.actions, self.store = actions, store

    def as_agent(self, actor: Actor, agent_id: str, item_id: str, command: str, *, text: str = "",
                 queue: str = "", result: str = ""):
        """Check, store (a reply) and post one item command -> (the event, the reply's message id or "")."""
        if command not in COMMANDS:
            raise ActionInvalid("action.bad_command", f"unknown item command {command!r}")
        engine = self.actions.engine()
        known = engine.deployment.tenants
        tenants = Actions.agent_tenants(engine, agent_id)
        someone_else = actor.agent != agent_id
        if someone_else and not actor.may(WORKING, tenants, known):
            self.actions._deny(actor, f"item.{command}", "agent", agent_id, ",".join(sorted(tenants)),
                               "not this agent's user and no working role in every tenant the agent serves",
                               audited=False)
        item = live_item(engine, item_id)
        if item is None:
            raise ActionNotFound("item.not_found", f"no open written item {item_id!r}")
        if someone_else and not actor.may(WORKING, item_tenants(engine.deployment, item), known):
            self.actions._deny(actor, f"item.{command}", "item", item_id, item.tenant,
                               "no working role in the item's tenant", audited=False)
        if item.agent != agent_id:
            raise ItemConflict("item.not_yours", f"item {item_id} is not offered to or held by {agent_id}")
        state = item.state.value
        now = self.actions.clock()
        message_id, detail = "", {}
        if command == "accept":
            event = ev.ItemAccept(agent_id, item.id, now)
        elif command == "decline":
            if state != "offered":
                raise ItemConflict("item.refused", f"item {item_id} is {state}, not offered")
            event = ev.ItemDecline(agent_id, item.id, now)
        elif command == "reply":                 # checked, stored and posted by queue_reply
            try:
                record = queue_reply(self.store, self.actions.post, engine.deployment, item, agent_id, text, now)
            except ReplyInvalid as exc:
                sms = " and at most 255 SMS parts" if item.channel == "sms" else ""
                raise ActionInvalid("item.bad_text", f"the reply is a text of 1 to "
                                    f"{MAX_TEXT.get(item.channel)} characters{sms}") from exc
            except ReplyError as exc:
                raise ItemConflict("item.refused", f"item {item_id} is {state}: accept it first") from exc
            event, message_id = ev.ItemReply(agent_id, item.id, record.id, now), record.id
            detail = {"message": record.id}
        elif command == "transfer":
            target = engine.deployment.queues.get(queue)
            if target is None or not target.written:
                raise ActionNotFound("action.unknown_queue", f"no written queue {queue!r}")
            event = ev.ItemTransfer(agent_id, item.id, target.id, now, by=actor.name if someone_else else "")
            detail = {"queue": target.id}
        else:
            codes = {r.id for r in engine.deployment.result_codes}
            if not isinstance(result, str) or (codes and result not in codes) or len(result) > 64:
                raise ActionInvalid("action.bad_result", f"unknown result code {result!r}")
            event = ev.ItemClose(agent_id, item.id, result, now, by=actor.name if someone_else else "")
            detail = {"result": result}
        if someone_else:
            self.actions.audit(actor.name, f"item.{command}", "item", item.id, tenant=item.tenant,
                               detail={"agent": agent_id, **detail})
        if command != "reply":                   # a reply is posted by queue_reply, after it is stored
            self.actions.post(event)
        return event, message_id

    def messages(self, actor: Actor, tenant: str, item_id: str, deployment, engine) -> list[MessageRecord]:
        """The messages (in and out, oldest first) of item `item_id` of `tenant` (live in
        the engine, or closed: from the store)."""
        if not actor.may(STEERING, {tenant}, deployment.tenants):
            self.actions._deny(actor, "item.messages_read", "item", item_id, tenant,
                               "no supervisor role in this tenant", audited=True)
        item = live_item(engine, item_id) if engine is not None else None
        if item is not None:
            if tenant not in item_tenants(deployment, item):
                raise ActionNotFound("item.not_found", f"no written item {item_id!r} in {tenant}")
            ids = set(item.messages)
            records = [m for m in self.store.written_messages(case=item.case) if m.id in ids]
        else:
            records = self.store.written_messages(item=item_id)
            owners = {m.tenant for m in records} | {deployment.queues[m.queue].tenant for m in records
                                                     if m.queue in deployment.queues}
            if not records or tenant not in owners:
                raise ActionNotFound("item.not_found", f"no written item {item_id!r} in {tenant}")
        self.actions.audit(actor.name, "item.messages_read", "item", item_id, tenant=tenant,
                           detail={"messages": len(records)})
        return records
