# Production image: the API without the embedded development servers, at the versions the
# tests ran with (requirements.lock constrains every package the install pulls in).
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY setup.cfg pyproject.toml README.md requirements.lock ./
COPY settings.py run.py gunicorn.conf.py ./
COPY cli ./cli
COPY domain ./domain
COPY hooks ./hooks
COPY routes ./routes
COPY pages ./pages
COPY plumbing ./plumbing
COPY catalogue ./catalogue
COPY booking ./booking
COPY search ./search
COPY payments ./payments
COPY identity ./identity
COPY reviews ./reviews
COPY demo ./demo
COPY reporting ./reporting
COPY mail ./mail
COPY webhooks ./webhooks
RUN pip install --no-cache-dir -c requirements.lock . && useradd --system --uid 10001 innkeeper
USER innkeeper
EXPOSE 5000
# Liveness: the process answers (readiness, /health/ready, is the load balancer's).
HEALTHCHECK --interval=15s --timeout=3s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:5000/health/live', timeout=2)"]
