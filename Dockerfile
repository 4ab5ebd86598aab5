# Multi-stage build: compile in the Rust image, run on a slim Debian.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p talentpool \
 && cp target/release/talentpool /usr/local/bin/talentpool

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --create-home --home-dir /data talentpool
COPY --from=build /usr/local/bin/talentpool /usr/local/bin/talentpool
USER talentpool
WORKDIR /data
ENV APP_ENV=production PORT=8080 DATA_DIR=/data
EXPOSE 8080
CMD ["talentpool", "serve"]
