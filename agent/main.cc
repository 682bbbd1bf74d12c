#include <cstdio>

int main() {
  std::printf("siem-agent %s\n", SIEM_AGENT_VERSION);
  return 0;
}
