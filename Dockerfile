# Production image: the API without the embedded development servers.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY setup.cfg pyproject.toml README.md ./
COPY settings.py run.py ./
COPY domain ./domain
COPY hooks ./hooks
COPY routes ./routes
COPY services ./services
RUN pip install --no-cache-dir . && useradd --system --uid 10001 innkeeper
USER innkeeper
EXPOSE 5000
