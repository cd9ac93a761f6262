; A port-restricted cone that answers any SYN it did not expect with a TCP RST:
; both an unsolicited SYN and a SYN arriving for a connection the inside is
; still opening (simultaneous open). Guha & Francis (IMC 2005) found such NATs
; in the field; TCP hole punching through them fails with ECONNREFUSED.
[nat]
mapping = eim
allocation = preserve
filtering = apdf
unsolicited_syn = rst
syn_in_syn_sent = rst
udp_unsolicited = icmp
hairpin = off
