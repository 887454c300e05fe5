"""Planners: the offline rule planner (rules.py) and the optional LLM planner (llm.py)."""
