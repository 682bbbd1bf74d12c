// HTTP face of the simulator: the OpenAI endpoints (admin-key auth, fault injection) and the
// loopback-only control API under /_sim/.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <httplib.h>

#include "tests/fakes/openai_sim/faults.h"
#include "tests/fakes/openai_sim/simulator.h"

namespace siem::sim {

struct ServerOptions {
  std::string admin_key;       // accepted bearer token, when set
  std::string admin_key_file;  // else: file holding it, re-read on every request (rotation)
  bool verbose = false;        // log each request to stderr
};

class SimServer {
 public:
  SimServer(Simulator& simulator, ServerOptions options);

  // Routes are installed on construction; the caller binds and listens.
  httplib::Server& http() { return http_; }

 private:
  // Hands out PageScratch objects and takes them back, so a page is built in storage that earlier
  // requests already grew: no allocation (nor the page faults of fresh memory) per page.
  class ScratchPool {
   public:
    struct Return {
      ScratchPool* pool;
      void operator()(PageScratch* scratch) const { pool->release(scratch); }
    };
    using Lease = std::unique_ptr<PageScratch, Return>;
    Lease acquire();

   private:
    void release(PageScratch* scratch);
    std::mutex mutex_;  // guards free_
    std::vector<std::unique_ptr<PageScratch>> free_;
  };

  struct RequestRecord {
    std::string endpoint;
    std::string target;
    int status = 0;
    std::string fault;
  };

  void installRoutes();
  // nullopt when authorized; else the 401 to send.
  std::optional<ApiError> authorize(const httplib::Request& req) const;
  void listAuditLogs(const httplib::Request& req, httplib::Response& res);
  void listOrganizationLogs(const httplib::Request& req, httplib::Response& res);
  void getOrganizationLog(const httplib::Request& req, httplib::Response& res);
  // Applies a fault that needs no page; true when the response is complete.
  bool applyTransportFault(const Fault& fault, const httplib::Request& req, httplib::Response& res);
  std::string nextRequestId();  // x-request-id of a /v1 response
  void sendError(httplib::Response& res, const ApiError& error);
  void sendJson(httplib::Response& res, int status, std::string body);
  // A 200 page, gzip-compressed (level 1) when the client accepts it. `body` is only read.
  void sendPage(const httplib::Request& req, httplib::Response& res, std::string_view body);
  void record(std::string endpoint, const httplib::Request& req, int status,
              const std::optional<Fault>& fault);

  void controlGenerate(const httplib::Request& req, httplib::Response& res);
  void controlFault(const httplib::Request& req, httplib::Response& res);
  void controlIds(const httplib::Request& req, httplib::Response& res);
  void controlStats(const httplib::Request& req, httplib::Response& res);
  void controlRequests(const httplib::Request& req, httplib::Response& res);
  void controlClear(const httplib::Request& req, httplib::Response& res);

  Simulator& simulator_;
  ServerOptions options_;
  FaultQueue faults_;
  ScratchPool scratch_;
  httplib::Server http_;

  mutable std::mutex stats_mutex_;  // guards the counters and recent_ below
  std::uint64_t requests_total_ = 0;
  std::map<int, std::uint64_t> requests_by_status_;
  std::uint64_t audit_log_requests_ = 0;
  std::uint64_t organization_log_requests_ = 0;
  std::uint64_t auth_failures_ = 0;
  std::uint64_t faults_served_ = 0;
  std::uint64_t request_counter_ = 0;  // for x-request-id
  std::deque<RequestRecord> recent_;   // last kRecentLimit API requests
  static constexpr std::size_t kRecentLimit = 1000;
  static constexpr std::size_t kCompressMinBytes = 1024;  // smaller bodies gain nothing
};

}  // namespace siem::sim
