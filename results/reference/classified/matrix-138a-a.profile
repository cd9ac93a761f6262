; natlab classify: the NAT between this host and 198.18.0.1:443, 2026-12-01 23:38 UTC (2.1 s).
; The knobs no test here tells (tcp_syn_sent_timeout, udp_stream_timeout,
; and without --timeouts udp_timeout and tcp_established_timeout) keep
; natlab's defaults.
[nat]
; over TCP, UDP being blocked: RFC 5780 4.3 over TCP: the same mapped endpoint toward the server's other address and port
mapping = eim
; mapping_tcp: eim (RFC 5780 4.3 over TCP: the same mapped endpoint toward the server's other address and port)
; 4 new TCP connections' mappings kept no port and no step (36691->25921, 37577->27987, 36779->24581, 34551->26460)
allocation = random
; over TCP, UDP being blocked: a SYN to our mapped endpoint from the server's other port met none, from its other address none
filtering = apdf
; filtering_tcp: apdf (a SYN to our mapped endpoint from the server's other port met none, from its other address none)
; RFC 5780 4.5: a request to its own mapped endpoint did not come back
hairpin = off
; a SYN from the server to port 31966 of the NAT met nothing (no answer, no error)
unsolicited_syn = drop
; a datagram from the server to port 38833 of the NAT met nothing (no answer, no error)
udp_unsolicited = drop
; the server's SYN from port 80, to the NAT's entry of our SYN to it (in SYN_SENT), was let through: we answered it, a simultaneous open
syn_in_syn_sent = accept
; the server saw us at 198.19.0.1, not at our own address
translation = on
; of 24 ports of the server tried, our SYNs reached only these (2); the ports not tried are not known
outbound_tcp = 80,443
; of 13 ports of the server tried, our datagrams reached only these (1); the ports not tried are not known
outbound_udp = 53
