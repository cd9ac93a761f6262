; A carrier-grade NAT (RFC 6888) to stack under home NATs: endpoint-independent
; mapping and filtering (RFC 6888 REQ-2 wants RFC 4787/5382 behaviour) with
; ports drawn at random from a large pool, as carriers do against port
; guessing. Its inside is RFC 6598 shared address space (100.64.0.0/10).
[nat]
mapping = eim
allocation = random
port_range = 1024-65535
filtering = eif
unsolicited_syn = drop
syn_in_syn_sent = accept
udp_unsolicited = drop
hairpin = on
