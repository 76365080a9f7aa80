"""The models a scenario run needs, loaded from stepvox settings: the agent's LLM (embedded
with a profile, or any remote backend), the speech stack for --voice, and the caller's
LLM when it should differ from the agent's."""

from __future__ import annotations

from agent.evals.runner import AgentBackend
from agent.settings import StepvoxSettings


def load_chat_model(settings: StepvoxSettings):
    """The LLM `settings` describe: the packaged one for its profile, or a remote server."""
    if settings.model != "embedded":
        from agent.cli.chat_session import remote_chat_model

        return remote_chat_model(settings)
    from agent.models.store import model_store
    from agent.backends.llama_cpp.chat import LlamaCppChatModel

    path = model_store(settings, progress=False).resolve_for_role("llm")
    return LlamaCppChatModel(path, n_threads=settings.threads,
                             temperature=settings.llm_temperature,
                             max_tokens=settings.llm_max_tokens)


def load_judge(settings: StepvoxSettings):
    """An LLM judge of the replies on the model `settings` describe, sampling at
    temperature 0 (a judge should give the same verdict on the same call). Its answer is
    four short lines: 72 tokens cut a model that goes on past them."""
    from agent.evals.judge import ReplyJudge

    judge_settings = settings.model_copy(update={"llm_temperature": 0.0, "llm_max_tokens": 72})
    label = settings.model if settings.model != "embedded" else f"embedded/{settings.profile}"
    return ReplyJudge(load_chat_model(judge_settings), label=label)


def load_backend(settings: StepvoxSettings, *, voice: bool = False,
                 caller_settings: StepvoxSettings | None = None) -> AgentBackend:
    label = settings.model if settings.model != "embedded" else f"embedded/{settings.profile}"
    if voice:
        from agent.setup.embedded_stack import load_embedded_stack

        remote = settings.model != "embedded"
        stack = load_embedded_stack(settings, progress=False, with_llm=not remote)
        chat = load_chat_model(settings) if remote else stack.chat_model
        backend = AgentBackend(chat, label=label + "+voice", decoder=stack.decoder,
                               tokenizer=stack.tokenizer)
    else:
        backend = AgentBackend(load_chat_model(settings), label=label)
    if caller_settings is not None:
        backend.caller_model = load_chat_model(caller_settings)
    return backend
