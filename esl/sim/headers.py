"""Header names and their order, per FreeSWITCH event, as facts read off the corpus
(tests/data/esl-corpus). Values come from the channel model (channel.py); this module
only says WHICH headers an event carries and in WHAT order.

Rules (observed): every event starts with CORE; channel events then carry the event's
own leading headers, the CHANNEL block (optional members only when the channel has
them), Other-Leg-* when bridged/originated by another leg, the event's trailing
headers, then every channel variable as ``variable_<name>``.
"""
from __future__ import annotations

CORE = (
    "Event-Name", "Core-UUID", "FreeSWITCH-Hostname", "FreeSWITCH-Switchname",
    "FreeSWITCH-IPv4", "FreeSWITCH-IPv6", "Event-Date-Local", "Event-Date-GMT",
    "Event-Date-Timestamp", "Event-Calling-File", "Event-Calling-Function",
    "Event-Calling-Line-Number", "Event-Sequence",
)

# Event-Calling-File / -Function / -Line-Number per event (as FreeSWITCH 1.11 reports them).
CALLING = {
    "API": ("switch_loadable_module.c", "switch_api_execute", "3140"),
    "BACKGROUND_JOB": ("mod_event_socket.c", "api_exec", "1580"),
    "CHANNEL_ANSWER": ("switch_channel.c", "switch_channel_perform_mark_answered", "3848"),
    "CHANNEL_BRIDGE": ("switch_ivr_bridge.c", "switch_ivr_multi_threaded_bridge", "1689"),
    "CHANNEL_CALLSTATE": ("switch_channel.c", "switch_channel_perform_set_callstate", "302"),
    "CHANNEL_CREATE": ("switch_core_state_machine.c", "switch_core_session_run", "626"),
    "CHANNEL_DESTROY": ("switch_core_session.c", "switch_core_session_perform_destroy", "1588"),
    "CHANNEL_EXECUTE": ("switch_core_session.c", "switch_core_session_exec", "2949"),
    "CHANNEL_EXECUTE_COMPLETE": ("switch_core_session.c", "switch_core_session_exec", "2972"),
    "CHANNEL_HANGUP": ("switch_channel.c", "switch_channel_perform_hangup", "3447"),
    "CHANNEL_HANGUP_COMPLETE": ("switch_core_state_machine.c", "switch_core_session_reporting_state", "943"),
    "CHANNEL_HOLD": ("switch_ivr.c", "switch_ivr_hold", "1558"),
    "CHANNEL_ORIGINATE": ("switch_core_state_machine.c", "switch_core_session_run", "632"),
    "CHANNEL_OUTGOING": ("switch_core_session.c", "switch_core_session_outgoing_channel", "768"),
    "CHANNEL_PARK": ("switch_ivr.c", "switch_ivr_park", "1002"),
    "CHANNEL_PROGRESS": ("switch_channel.c", "switch_channel_perform_mark_ring_ready_value", "3507"),
    "CHANNEL_PROGRESS_MEDIA": ("switch_channel.c", "switch_channel_perform_mark_pre_answered", "3562"),
    "CHANNEL_STATE": ("switch_channel.c", "switch_channel_perform_set_running_state", "2409"),
    "CHANNEL_UNBRIDGE": ("switch_ivr_bridge.c", "switch_ivr_multi_threaded_bridge", "1879"),
    "CHANNEL_UNHOLD": ("switch_ivr.c", "switch_ivr_unhold", "1638"),
    "CHANNEL_UNPARK": ("switch_ivr.c", "switch_ivr_park", "1213"),
    "CHANNEL_UUID": ("switch_core_session.c", "switch_core_session_set_uuid", "2056"),
    "DTMF": ("switch_channel.c", "switch_channel_dequeue_dtmf", "678"),
    "HEARTBEAT": ("switch_core.c", "send_heartbeat", "95"),
    "PLAYBACK_START": ("switch_ivr_play_say.c", "switch_ivr_play_file", "1649"),
    "PLAYBACK_STOP": ("switch_ivr_play_say.c", "switch_ivr_play_file", "2023"),
    "PRESENCE_IN": ("switch_channel.c", "switch_channel_perform_presence", "806"),
    "PRESENCE_IN_REGISTER": ("sofia_reg.c", "sofia_reg_handle_register_token", "2103"),
    "PRIVATE_COMMAND": ("switch_ivr.c", "switch_ivr_parse_next_event", "804"),
    "RECORD_START": ("switch_ivr_async.c", "record_callback", "1482"),
    "RECORD_STOP": ("switch_ivr_async.c", "send_record_stop_event", "1241"),
    "RELOADXML": ("switch_xml.c", "switch_xml_open_root", "2423"),
    "RE_SCHEDULE": ("switch_scheduler.c", "switch_scheduler_execute", "73"),
    "SHUTDOWN": ("switch_core.c", "switch_core_destroy", "3033"),
    "sendevent": ("mod_event_socket.c", "parse_command", "2283"),
    "sofia::register": ("sofia_reg.c", "sofia_reg_handle_register_token", "2059"),
    "sofia::unregister": ("sofia_reg.c", "sofia_reg_handle_register_token", "2213"),
}

# Headers an event puts BEFORE the channel block.
LEADING = {
    "CHANNEL_BRIDGE": ("Bridge-A-Unique-ID", "Bridge-B-Unique-ID"),
    "CHANNEL_UNBRIDGE": ("Bridge-A-Unique-ID", "Bridge-B-Unique-ID"),
    "CHANNEL_CALLSTATE": ("Original-Channel-Call-State", "Channel-Call-State-Number"),
    "CHANNEL_UUID": ("Old-Unique-ID",),
}

# The channel block in wire order; names in CHANNEL_OPTIONAL appear only when set.
CHANNEL = (
    "Channel-State", "Channel-Call-State", "Channel-State-Number", "Channel-Name", "Unique-ID",
    "Call-Direction", "Presence-Call-Direction", "Channel-HIT-Dialplan", "Channel-Presence-ID",
    "Channel-Call-UUID", "Answer-State", "Hangup-Cause",
    "Channel-Read-Codec-Name", "Channel-Read-Codec-Rate", "Channel-Read-Codec-Bit-Rate",
    "Channel-Write-Codec-Name", "Channel-Write-Codec-Rate", "Channel-Write-Codec-Bit-Rate",
    "Caller-Direction", "Caller-Logical-Direction", "Caller-Username", "Caller-Dialplan",
    "Caller-Caller-ID-Name", "Caller-Caller-ID-Number", "Caller-Orig-Caller-ID-Name",
    "Caller-Orig-Caller-ID-Number", "Caller-Network-Addr", "Caller-Callee-ID-Name",
    "Caller-Callee-ID-Number", "Caller-ANI", "Caller-Destination-Number", "Caller-Unique-ID",
    "Caller-Source", "Caller-Transfer-Source", "Caller-Context", "Caller-RDNIS",
    "Caller-Channel-Name", "Caller-Profile-Index", "Caller-Profile-Created-Time",
    "Caller-Channel-Created-Time", "Caller-Channel-Answered-Time", "Caller-Channel-Progress-Time",
    "Caller-Channel-Progress-Media-Time", "Caller-Channel-Hangup-Time",
    "Caller-Channel-Transfer-Time", "Caller-Channel-Resurrect-Time",
    "Caller-Channel-Bridged-Time", "Caller-Channel-Last-Hold", "Caller-Channel-Hold-Accum",
    "Caller-Screen-Bit", "Caller-Privacy-Hide-Name", "Caller-Privacy-Hide-Number",
)
CHANNEL_OPTIONAL = frozenset({
    "Channel-Presence-ID", "Hangup-Cause", "Caller-Username", "Caller-Dialplan",
    "Caller-Caller-ID-Name", "Caller-Orig-Caller-ID-Name", "Caller-Network-Addr",
    "Caller-Callee-ID-Name", "Caller-Callee-ID-Number", "Caller-Transfer-Source", "Caller-RDNIS",
    "Channel-Read-Codec-Name", "Channel-Read-Codec-Rate", "Channel-Read-Codec-Bit-Rate",
    "Channel-Write-Codec-Name", "Channel-Write-Codec-Rate", "Channel-Write-Codec-Bit-Rate",
})

# The other leg's caller profile (bridged channels, originated legs), in wire order.
OTHER_LEG = (
    "Other-Type", "Other-Leg-Direction", "Other-Leg-Logical-Direction", "Other-Leg-Username",
    "Other-Leg-Dialplan", "Other-Leg-Caller-ID-Name", "Other-Leg-Caller-ID-Number",
    "Other-Leg-Orig-Caller-ID-Name", "Other-Leg-Orig-Caller-ID-Number", "Other-Leg-Callee-ID-Name",
    "Other-Leg-Callee-ID-Number", "Other-Leg-Network-Addr", "Other-Leg-ANI",
    "Other-Leg-Destination-Number", "Other-Leg-Unique-ID", "Other-Leg-Source", "Other-Leg-Context",
    "Other-Leg-RDNIS", "Other-Leg-Channel-Name", "Other-Leg-Profile-Created-Time",
    "Other-Leg-Channel-Created-Time", "Other-Leg-Channel-Answered-Time",
    "Other-Leg-Channel-Progress-Time", "Other-Leg-Channel-Progress-Media-Time",
    "Other-Leg-Channel-Hangup-Time", "Other-Leg-Channel-Transfer-Time",
    "Other-Leg-Channel-Resurrect-Time", "Other-Leg-Channel-Bridged-Time",
    "Other-Leg-Channel-Last-Hold", "Other-Leg-Channel-Hold-Accum", "Other-Leg-Screen-Bit",
    "Other-Leg-Privacy-Hide-Name", "Other-Leg-Privacy-Hide-Number",
)

# Headers an event puts AFTER the channel block (and Other-Leg-*), before variables.
TRAILING = {
    "CHANNEL_EXECUTE": ("Application", "Application-Data", "Application-UUID"),
    "CHANNEL_EXECUTE_COMPLETE": ("Application", "Application-Data", "Application-Response", "Application-UUID"),
    "PLAYBACK_START": ("Playback-File-Type", "Playback-File-Path"),
    "PLAYBACK_STOP": ("Playback-File-Type", "Playback-File-Path", "Playback-Status"),
    "RECORD_START": ("Record-File-Path",),
    "RECORD_STOP": ("Record-File-Path", "Record-Completion-Cause"),
    "DTMF": ("DTMF-Digit", "DTMF-Duration", "DTMF-Source"),
    "PRESENCE_IN": ("proto", "login", "from", "rpid", "status", "event_type", "alt_event_type",
                    "presence-call-info-state", "presence-call-direction", "event_count",
                    "Presence-Calling-File", "Presence-Calling-Function", "Presence-Calling-Line"),
}

# What ``myevents`` subscribes a connection to (the controlled channel's events only).
MYEVENTS = frozenset({
    "CHANNEL_ANSWER", "CHANNEL_APPLICATION", "CHANNEL_BRIDGE", "CHANNEL_CREATE", "CHANNEL_DATA",
    "CHANNEL_DESTROY", "CHANNEL_EXECUTE", "CHANNEL_EXECUTE_COMPLETE", "CHANNEL_HANGUP",
    "CHANNEL_HANGUP_COMPLETE", "CHANNEL_ORIGINATE", "CHANNEL_UUID", "CHANNEL_OUTGOING",
    "CHANNEL_PARK", "CHANNEL_PROGRESS", "CHANNEL_PROGRESS_MEDIA", "CHANNEL_STATE",
    "CHANNEL_UNBRIDGE", "CHANNEL_UNPARK", "DETECTED_SPEECH", "DTMF",
})

# The numbers FreeSWITCH puts beside the state names.
STATE_NUMBER = {
    "CS_NEW": 0, "CS_INIT": 1, "CS_ROUTING": 2, "CS_SOFT_EXECUTE": 3, "CS_EXECUTE": 4,
    "CS_EXCHANGE_MEDIA": 5, "CS_PARK": 6, "CS_CONSUME_MEDIA": 7, "CS_HIBERNATE": 8,
    "CS_RESET": 9, "CS_HANGUP": 10, "CS_REPORTING": 11, "CS_DESTROY": 12, "CS_NONE": 13,
}
CALLSTATE_NUMBER = {
    "DOWN": 0, "DIALING": 1, "RINGING": 2, "EARLY": 3, "ACTIVE": 4, "HELD": 5,
    "RING_WAIT": 6, "HANGUP": 7, "UNHELD": 8,
}
