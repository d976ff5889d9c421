/* ESCAPES 40-44: direct network attempts from inside the jail; prints NAME=ERRNO per attempt. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <stdlib.h>
static const char *en(int e){ switch(e){case 0:return "OK";case EACCES:return "EACCES";case EPERM:return "EPERM";case ENETUNREACH:return "ENETUNREACH";case ECONNREFUSED:return "ECONNREFUSED";case EAFNOSUPPORT:return "EAFNOSUPPORT";case EINVAL:return "EINVAL";case EHOSTUNREACH:return "EHOSTUNREACH"; default: return strerror(e);} }
static void tcp(const char *label, int fam, const char *ip, int port){
  int s = socket(fam, SOCK_STREAM, 0); int r;
  if (fam==AF_INET){ struct sockaddr_in a={.sin_family=AF_INET,.sin_port=htons(port)}; inet_pton(AF_INET, ip, &a.sin_addr); r=connect(s,(void*)&a,sizeof a);} 
  else { struct sockaddr_in6 a={.sin6_family=AF_INET6,.sin6_port=htons(port)}; inet_pton(AF_INET6, ip, &a.sin6_addr); r=connect(s,(void*)&a,sizeof a);} 
  fprintf(stderr, "%s=%s\n", label, r==0?"OK":en(errno)); close(s);
}
static void fastopen(const char *label, const char *ip, int port){
  int s = socket(AF_INET, SOCK_STREAM, 0); struct sockaddr_in a={.sin_family=AF_INET,.sin_port=htons(port)}; inet_pton(AF_INET, ip, &a.sin_addr);
  ssize_t r = sendto(s, "x", 1, MSG_FASTOPEN, (void*)&a, sizeof a); fprintf(stderr, "%s=%s\n", label, r>=0?"OK":en(errno)); close(s);
}
static void udp(const char *label, const char *ip, int port, int how){
  int s = socket(AF_INET, SOCK_DGRAM, 0); struct sockaddr_in a={.sin_family=AF_INET,.sin_port=htons(port)}; inet_pton(AF_INET, ip, &a.sin_addr); ssize_t r;
  if (how==0) r = sendto(s, "x", 1, 0, (void*)&a, sizeof a);
  else { struct iovec iov={.iov_base="x",.iov_len=1}; struct msghdr m={.msg_name=&a,.msg_namelen=sizeof a,.msg_iov=&iov,.msg_iovlen=1};
    if (how==1) r = sendmsg(s, &m, 0); else { struct mmsghdr mm={.msg_hdr=m}; r = sendmmsg(s, &mm, 1, 0); } }
  fprintf(stderr, "%s=%s\n", label, r>=0?"OK":en(errno)); close(s);
}
int main(int argc, char **argv){
  int port = argc > 1 ? atoi(argv[1]) : 9;
  tcp("tcp4_public", AF_INET, "1.1.1.1", 443);
  tcp("tcp6_public", AF_INET6, "2606:4700:4700::1111", 443);
  tcp("metadata_v4", AF_INET, "169.254.169.254", 80);
  tcp("metadata_mapped", AF_INET6, "::ffff:169.254.169.254", 80);
  tcp("metadata_v6", AF_INET6, "fd00:ec2::254", 80);
  tcp("metadata_alibaba", AF_INET, "100.100.100.200", 80);
  tcp("metadata_nat64", AF_INET6, "64:ff9b::a9fe:a9fe", 80);
  tcp("any_v4", AF_INET, "0.0.0.0", port);
  tcp("any_v6", AF_INET6, "::", port);
  tcp("lo2", AF_INET, "127.0.0.2", port);
  tcp("lo_mapped", AF_INET6, "::ffff:127.0.0.1", port);
  tcp("lo1", AF_INET, "127.0.0.1", port);
  fastopen("tcp_fastopen", "1.1.1.1", 443);
  udp("udp_sendto_lo", "127.0.0.1", port, 0);
  udp("udp_sendto_dns", "8.8.8.8", 53, 0);
  udp("udp_sendmsg", "8.8.8.8", 53, 1);
  udp("udp_sendmmsg", "8.8.8.8", 53, 2);
  struct addrinfo *res; int g = getaddrinfo("example.com", "443", NULL, &res);
  fprintf(stderr, "getaddrinfo=%s\n", g==0?"OK":g==EAI_NONAME?"EAI_NONAME":g==EAI_AGAIN?"EAI_AGAIN":gai_strerror(g));
  return 0;
}
