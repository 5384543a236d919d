"""One Event Socket session (esl.connection.ESLConnection) over real TCP against the
simulator: auth, api/bgapi and their correlation, timeouts, and every way a session ends
failing all that is pending at once."""
from __future__ import annotations

import gevent
import gevent.queue
import pytest
from gevent.server import StreamServer

from esl.connection import ESLConnection, subscription_command
from esl.errors import AuthFailed, CommandFailed, ConnectionLost, InvalidCommand, ProtocolError, ReplyTimeout
from esl.sim.server import Simulator
from tests.helpers import until

PASSWORD = "s3cret-pw"


@pytest.fixture
def sim():
    s = Simulator(password=PASSWORD, time_factor=0.01, heartbeat_interval=0.2).start()
    yield s
    s.stop()


@pytest.fixture
def events():
    return gevent.queue.Queue()


@pytest.fixture
def conn(sim, events):
    c = ESLConnection("127.0.0.1", sim.port, PASSWORD, name="fs1", post=events.put, timeout=2.0)
    c.connect()
    c.subscribe(["BACKGROUND_JOB"])
    yield c
    c.close()


def parked_call(sim, conn):
    ch = sim.place_call("7001", caller_number="4791234567")
    until(lambda: conn.api(f"uuid_exists {ch.uuid}") == "true")
    return ch


# ------------------------------------------------------------------ auth


def test_auth_ok_then_api_returns_the_body(conn):
    assert conn.connected
    assert "UP" in conn.api("status")
    with pytest.raises(CommandFailed) as info:
        conn.api("no_such_command")
    assert info.value.reply.startswith("-ERR")


def test_wrong_password_is_auth_failed_without_the_password_in_the_message(sim):
    c = ESLConnection("127.0.0.1", sim.port, "wrong-pw-xyz", timeout=2.0)
    with pytest.raises(AuthFailed) as info:
        c.connect()
    assert "-ERR invalid" in str(info.value)
    assert "wrong-pw-xyz" not in str(info.value)
    assert c.closed.is_set()


def test_a_password_with_a_newline_is_refused_without_showing_it(sim):
    c = ESLConnection("127.0.0.1", sim.port, "pw\nevent plain ALL", timeout=2.0)
    with pytest.raises(InvalidCommand) as info:
        c.connect()
    assert "event plain" not in str(info.value) and c.closed.is_set()


def test_no_auth_request_is_a_timeout_not_a_hang():
    silent = StreamServer(("127.0.0.1", 0), lambda sock, addr: gevent.sleep(30))
    silent.start()
    try:
        c = ESLConnection("127.0.0.1", silent.server_port, PASSWORD, timeout=0.3)
        with pytest.raises(ReplyTimeout, match="auth/request"):
            c.connect()
    finally:
        silent.stop(timeout=0.1)


def test_slow_auth_reply_is_a_timeout_that_does_not_show_the_password(sim):
    sim.faults.delay("auth", 2.0)
    c = ESLConnection("127.0.0.1", sim.port, PASSWORD, timeout=0.3)
    with pytest.raises(ReplyTimeout) as info:
        c.connect()
    assert PASSWORD not in str(info.value)


def test_nothing_listening_is_connection_lost():
    from tests.helpers import free_port
    with pytest.raises(ConnectionLost, match="cannot connect"):
        ESLConnection("127.0.0.1", free_port(), PASSWORD, timeout=1.0).connect()


# ------------------------------------------------------------------ commands


def test_invalid_command_is_a_local_error_and_nothing_is_sent(conn):
    with pytest.raises(InvalidCommand):
        conn.api("status\nevent plain ALL")
    assert conn.api("status")


def test_subscription_puts_plain_names_before_custom_subclasses():
    command = subscription_command(["CHANNEL_PARK", "CUSTOM", "sofia::register", "HEARTBEAT", "sofia::unregister"])
    assert command == "event plain CHANNEL_PARK HEARTBEAT CUSTOM sofia::register sofia::unregister"


def test_subscribed_events_reach_the_inbox_decoded(sim, conn, events):
    conn.subscribe(["CHANNEL_PARK"])
    ch = sim.place_call("7001", caller_name="Ola\nUnique-ID: forged")
    park = events.get(timeout=5)
    assert park.name == "CHANNEL_PARK"
    assert park.unique_id == ch.uuid
    assert park.get("Caller-Caller-ID-Name") == "Ola\nUnique-ID: forged"


def test_bgapi_without_background_job_subscribed_is_refused_not_left_waiting(sim):
    c = ESLConnection("127.0.0.1", sim.port, PASSWORD, timeout=2.0)
    c.connect()
    with pytest.raises(InvalidCommand, match="BACKGROUND_JOB"):
        c.bgapi("status")
    c.close()


def test_many_greenlets_get_their_own_api_and_bgapi_results(sim, conn):
    ch = parked_call(sim, conn)
    values = {f"v{i}": f"value-{i}" for i in range(40)}
    for name, value in values.items():
        conn.api(f"uuid_setvar {ch.uuid} {name} {value}")

    def by_api(name):
        return name, conn.api(f"uuid_getvar {ch.uuid} {name}")

    def by_bgapi(name):
        return name, conn.bgapi(f"uuid_getvar {ch.uuid} {name}", timeout=5)

    jobs = [gevent.spawn(fn, name) for name in values for fn in (by_api, by_bgapi)]
    gevent.joinall(jobs, timeout=10, raise_error=True)
    results = [job.value for job in jobs]
    assert len(results) == 80
    assert all(values[name] == got.strip() for name, got in results)


def test_bgapi_failure_is_command_failed_with_the_cause(sim, conn):
    sim.add_user("1001", action="busy")
    with pytest.raises(CommandFailed) as info:
        conn.bgapi("originate user/1001 &park()", timeout=5)
    assert info.value.cause == "USER_BUSY"


def test_slow_reply_times_out_and_the_late_reply_goes_to_no_one_else(sim, conn):
    ch = parked_call(sim, conn)
    conn.api(f"uuid_setvar {ch.uuid} mark here")
    sim.faults.delay("status", 0.5)
    with pytest.raises(ReplyTimeout, match="status"):
        conn.api("status", timeout=0.1)
    sim.faults.clear()
    # the status reply arrives later and must not be taken for this one
    assert conn.api(f"uuid_getvar {ch.uuid} mark", timeout=3) == "here"
    assert conn.oldest_pending_age() == 0.0


# ------------------------------------------------------------------ the session ends


def test_dropped_connection_fails_every_pending_command_at_once(sim, conn):
    ch = parked_call(sim, conn)
    sim.faults.delay("status", 0.3)
    sim.faults.drop("status")
    waiting = [gevent.spawn(conn.api, "status", 30)]
    waiting += [gevent.spawn(conn.api, f"uuid_getvar {ch.uuid} x", 30) for _ in range(5)]
    waiting += [gevent.spawn(conn.bgapi, f"uuid_getvar {ch.uuid} x", 30) for _ in range(5)]
    gevent.joinall(waiting, timeout=5)
    assert all(g.ready() for g in waiting), "a command is still hanging"
    assert all(isinstance(g.exception, ConnectionLost) for g in waiting), [g.exception for g in waiting]
    assert conn.closed.is_set()
    with pytest.raises(ConnectionLost):
        conn.api("status")


def test_pending_job_fails_when_the_connection_drops(sim, conn):
    sim.add_user("1002", action="noanswer")
    job = gevent.spawn(conn.bgapi, "originate {originate_timeout=30}user/1002 &park()", 60)
    until(lambda: any("1002" in c.name for c in sim.channels.values()))
    sim.disconnect_all()
    job.join(timeout=5)
    assert isinstance(job.exception, ConnectionLost)


def test_disconnect_notice_ends_the_session(sim, conn):
    sim.disconnect_all()
    until(conn.closed.is_set)
    assert isinstance(conn.close_reason, ConnectionLost)
    assert "disconnect notice" in str(conn.close_reason)


def test_malformed_frame_from_the_server_ends_the_session_with_a_protocol_error(sim, conn):
    sim.faults.garble("status")
    with pytest.raises(ConnectionLost):
        conn.api("status", timeout=3)
    assert isinstance(conn.close_reason, ProtocolError)


def test_close_while_commands_wait_releases_them(sim, conn):
    sim.faults.delay("status", 5)
    waiting = [gevent.spawn(conn.api, "status", 30) for _ in range(3)]
    until(lambda: conn.oldest_pending_age() > 0)
    conn.close()
    gevent.joinall(waiting, timeout=2)
    assert all(isinstance(g.exception, ConnectionLost) for g in waiting)
