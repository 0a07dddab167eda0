#include "ctl/control.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <gtest/gtest.h>

namespace asio = boost::asio;
using namespace lvsd::ctl;

namespace {

class ControlSocket : public ::testing::Test {
protected:
    void SetUp() override {
        path_ = "/tmp/lvsd-ctl-test-" + std::to_string(::getpid()) + ".sock";
        auto server = ControlServer::start(io_.get_executor(), path_, [this](std::string_view r) {
            seen_.emplace_back(r);
            if (r == "status") return Reply{true, "all good\n"};
            return Reply{false, "unknown request\n"};
        });
        ASSERT_TRUE(server.ok()) << server.error().message;
        server_ = std::move(*server);
        thread_ = std::thread([this] { io_.run(); });
    }
    void TearDown() override {
        asio::post(io_, [this] { server_.reset(); });
        work_.reset();
        thread_.join();
    }

    asio::io_context io_;
    asio::executor_work_guard<asio::io_context::executor_type> work_{io_.get_executor()};
    std::string path_;
    std::unique_ptr<ControlServer> server_;
    std::vector<std::string> seen_;
    std::thread thread_;
};

}  // namespace

TEST_F(ControlSocket, AnswersOneRequestPerConnection) {
    auto ok = request(path_, "status");
    ASSERT_TRUE(ok.ok()) << ok.error().message;
    EXPECT_TRUE(ok->ok);
    EXPECT_EQ(ok->body, "all good\n");
    auto bad = request(path_, "frobnicate");
    ASSERT_TRUE(bad.ok());
    EXPECT_FALSE(bad->ok);
    EXPECT_EQ(bad->body, "unknown request\n");
}

TEST_F(ControlSocket, SocketIsOwnerOnly) {
    struct stat st {};
    ASSERT_EQ(::stat(path_.c_str(), &st), 0);
    EXPECT_TRUE(S_ISSOCK(st.st_mode));
    EXPECT_EQ(st.st_mode & 0777, 0600);
}

TEST(ControlClient, MissingDaemonIsAClearError) {
    auto r = request("/tmp/lvsd-no-such-socket.sock", "status");
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message.find("cannot connect to /tmp/lvsd-no-such-socket.sock"),
              std::string::npos);
    EXPECT_NE(r.error().message.find("is lvsd running?"), std::string::npos);
}
