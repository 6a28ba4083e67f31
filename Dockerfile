# WMI2's one image: api, events, worker and the init step are its commands (docker-compose.yml).
# Installs WMI2 as `make setup` does (pip with constraints.txt), in a virtualenv built in a
# first stage that has a compiler, and copied into a final stage that has none.

FROM python:3.11-slim-bookworm AS build
# crypt-r (the crypt(3) binding that hashes host passwords) comes only as source: it needs a
# C compiler and libcrypt's headers.
RUN apt-get update \
 && apt-get install -y --no-install-recommends gcc libc6-dev libcrypt-dev \
 && rm -rf /var/lib/apt/lists/*
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/wmi2
ENV PATH=/opt/wmi2/bin:$PATH
WORKDIR /src
# The dependencies first, alone: this layer is rebuilt when they change, not at each code change.
COPY pyproject.toml constraints.txt ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > requirements.txt \
 && pip install -c constraints.txt -r requirements.txt
COPY services ./services
COPY web ./web
# services/api/main.py looks for web/ (templates, static files) beside the services package.
RUN pip install -c constraints.txt . \
 && cp -r web "$(python -c 'import sysconfig; print(sysconfig.get_path("purelib"))')/web"

FROM python:3.11-slim-bookworm
# passwd: the shadow tools (useradd, usermod, groupadd, gpasswd...) that the worker runs;
# tar: archives the home of a deleted user.
RUN apt-get update \
 && apt-get install -y --no-install-recommends passwd tar \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /opt/wmi2 /opt/wmi2
# The web services need no privilege: they run as this user. The worker and init cannot (they
# edit account files under WMI_SYSROOT): docker-compose.yml runs them as root.
RUN useradd --system --home-dir /var/lib/wmi2 --shell /usr/sbin/nologin wmi2 \
 && install -d -o wmi2 -g wmi2 /var/lib/wmi2
# Non-secret defaults only: the database password, the admin password and any certificate
# come from the environment at run time, never from the image.
ENV PATH=/opt/wmi2/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    WMI_DATA_DIR=/var/lib/wmi2 \
    WMI_BIND=0.0.0.0
WORKDIR /var/lib/wmi2
USER wmi2
EXPOSE 8000 8001
# No HEALTHCHECK here: the image serves several roles; each compose service has its own.
CMD ["wmi2", "--help"]
