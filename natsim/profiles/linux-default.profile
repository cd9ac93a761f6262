; A plain Linux router: `masquerade` and no filter. The external port is the
; inside port while the 5-tuple stays unique (so a STUN test sees EIM until two
; inside hosts collide), and an unsolicited SYN reaches the router's own stack,
; which answers with RST; unsolicited UDP gets ICMP port unreachable.
[nat]
mapping = apdm
allocation = preserve
filtering = apdf
unsolicited_syn = stack
syn_in_syn_sent = accept
udp_unsolicited = icmp
hairpin = off
