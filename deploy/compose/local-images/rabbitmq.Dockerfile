# Debian's rabbitmq-server with the management plugin, standing in for rabbitmq:3.13-management:
# same data folder, same RABBITMQ_DEFAULT_USER/RABBITMQ_DEFAULT_PASS, same ports.
ARG BASE_IMAGE=quoteflow-local/debian:bookworm
FROM ${BASE_IMAGE}
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends rabbitmq-server \
 && rm -rf /var/lib/apt/lists/* \
 && rabbitmq-plugins enable --offline rabbitmq_management
COPY rabbitmq-entrypoint.sh /usr/local/bin/rabbitmq-entrypoint.sh
VOLUME /var/lib/rabbitmq
EXPOSE 5672 15672
ENTRYPOINT ["/usr/local/bin/rabbitmq-entrypoint.sh"]
CMD ["/usr/lib/rabbitmq/bin/rabbitmq-server"]
