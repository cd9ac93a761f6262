; natlab classify: the NAT between this host and 198.18.0.1:443, 2026-12-01 23:39 UTC (1.2 s).
; The knobs no test here tells (tcp_syn_sent_timeout, udp_stream_timeout,
; and without --timeouts udp_timeout and tcp_established_timeout) keep
; natlab's defaults.
[nat]
; RFC 5780 4.3: the same mapped endpoint toward the server's other address and port
mapping = eim
; mapping_tcp: eim (RFC 5780 4.3 over TCP: the same mapped endpoint toward the server's other address and port)
; 4 new sockets kept their ports (57305->57305, 55492->55492, 35009->35009, 43358->43358)
allocation = preserve
; RFC 5780 4.4: no answer from another address or port came in (tests II, III)
filtering = apdf
; filtering_tcp: apdf (a SYN to our mapped endpoint from the server's other port met rst, from its other address rst)
; RFC 5780 4.5: a request to its own mapped endpoint did not come back
hairpin = off
; a SYN from the server to port 16109 of the NAT was answered with an RST
unsolicited_syn = rst
; a datagram from the server to port 42291 of the NAT was answered with ICMP type 3 code 3
udp_unsolicited = icmp
; the server's SYN from port 37593, to the NAT's entry of our SYN to it (in SYN_SENT), was let through: we answered it, a simultaneous open
syn_in_syn_sent = accept
; the server saw us at 198.19.0.2, not at our own address
translation = on
; our SYNs to every one of 24 ports of the server tried reached it
outbound_tcp = any
; our datagrams to every one of 13 ports of the server tried reached it
outbound_udp = any
