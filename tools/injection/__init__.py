"""Learned defences against instructions hidden in tool output, beside the pattern list and
the data framing of `tools.untrusted_output`: `instruction_detector` scores lines by meaning."""
