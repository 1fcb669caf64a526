# One image for both processes of a durableruns deployment, built from the project's
# wheel: `durableruns api` (the default command) and `durableruns worker`.
#
#   docker build -t durableruns .
#   docker run -e TEMPORAL_ADDRESS=… -e DURABLERUNS_SECRET_KEY=… -p 3030:3030 durableruns
#   docker run -e TEMPORAL_ADDRESS=… -e DURABLERUNS_SECRET_KEY=… durableruns worker --tasks mytasks
#
# Not built in this repository's tests (no Docker engine there); see README,
# "Deploying: many workers and facades".

FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
# The project's wheel and the wheels of everything it depends on.
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --no-index --find-links /wheels durableruns \
    && rm -rf /wheels \
    && useradd --create-home --uid 10001 durableruns
WORKDIR /app
# Your task modules: the worker imports DURABLERUNS_TASKS / --tasks from /app.
# COPY mytasks.py ./
USER durableruns
ENV PYTHONUNBUFFERED=1 \
    DURABLERUNS_API_HOST=0.0.0.0 \
    DURABLERUNS_HEALTH_FILE=/tmp/durableruns-healthy \
    DURABLERUNS_STATE_DIR=/tmp/durableruns
EXPOSE 3030
# SIGTERM drains a worker (DURABLERUNS_DRAIN_GRACE_S, default 30 s): give the container
# a longer stop timeout (docker stop -t 40, terminationGracePeriodSeconds: 40).
STOPSIGNAL SIGTERM
ENTRYPOINT ["durableruns"]
CMD ["api"]
