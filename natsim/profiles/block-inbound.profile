; A firewall without translation: the inside has addresses of its own, routed
; to it; what the inside opens lets its replies back in, nothing else gets in
; (stateful filtering as RFC 6092 describes for IPv6 home gateways, or a host
; firewall's default). The endpoint a server sees is the host's own.
[nat]
translation = off
filtering = apdf
unsolicited_syn = drop
syn_in_syn_sent = accept
udp_unsolicited = drop
